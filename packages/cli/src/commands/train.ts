import { runTrain, TRAIN_USAGE } from '@sdxs/train';
import type { CliIo, Command } from '../io.js';

export const train: Command = {
  name: 'train',
  summary: 'flow-matching fine-tuning of the UNet (resumable, Ctrl-C saves a checkpoint)',
  help: `${TRAIN_USAGE}\n\nExample config: packages/train/examples/train.sdxs-1b.json (see the @sdxs/train README).`,
  async run(argv: string[], io: CliIo): Promise<number> {
    if (argv.includes('-h') || argv.includes('--help')) {
      io.stdout.write(`${this.help}\n`);
      return 0;
    }
    const r = await runTrain(argv);
    if (r) io.stdout.write(`${JSON.stringify({ steps: r.steps, output: r.output, final: r.final, loss: r.last?.loss ?? null })}\n`);
    return 0;
  },
};
