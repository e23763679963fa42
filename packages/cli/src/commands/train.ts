import { runTrain, TRAIN_USAGE } from '@sdxs/train';
import { EXIT } from '../cli-error.js';
import type { CliIo, Command } from '../io.js';

export const train: Command = {
  name: 'train',
  summary: 'flow-matching fine-tuning of the UNet, or LoRA with --lora (resumable, Ctrl-C saves a checkpoint)',
  help: `${TRAIN_USAGE}\n\nExample configs: packages/train/examples/train.sdxs-1b.json (full), lora.sdxs-1b.json (LoRA); see the @sdxs/train README.`,
  async run(argv: string[], io: CliIo): Promise<number> {
    if (argv.includes('-h') || argv.includes('--help')) {
      io.stdout.write(`${this.help}\n`);
      return 0;
    }
    // the summary (a line on stderr, or JSON on stdout with --json) is runTrain's
    const r = await runTrain(argv, { stdout: io.stdout, stderr: io.stderr, env: io.env, signal: io.signal, cwd: io.cwd });
    return r?.interrupted ? EXIT.interrupted : EXIT.ok;
  },
};
