import { runTrain, TRAIN_USAGE } from '@sdxs/train';
import { EXIT } from '../cli-error.js';
import { defineCommand } from '../define-command.js';

export const train = defineCommand({
  name: 'train',
  summary: 'flow-matching fine-tuning of the UNet, or LoRA with --lora (resumable, Ctrl-C saves a checkpoint)',
  usage: `${TRAIN_USAGE}\n\nExample configs: packages/train/examples/train.sdxs-1b.json (full), lora.sdxs-1b.json (LoRA); see the @sdxs/train README.`,
  options: {},
  passthrough: {},
  async run({ positionals: argv, io }) {
    // the summary (a line on stderr, or JSON on stdout with --json) is runTrain's
    const r = await runTrain(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env, signal: io.signal, cwd: io.cwd });
    return r?.interrupted ? EXIT.interrupted : EXIT.ok;
  },
});
