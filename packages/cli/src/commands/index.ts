import type { Command } from '../io.js';
import { bench } from './bench.js';
import { data } from './data.js';
import { download } from './download.js';
import { evalCommand } from './eval.js';
import { exportCommand } from './export.js';
import { generate } from './generate.js';
import { makeTinyModel } from './make-tiny-model.js';
import { refine } from './refine.js';
import { train } from './train.js';
import { upscale } from './upscale.js';

/** Every command, in the order `sdxs --help` lists them. */
export const COMMANDS: readonly Command[] = [generate, refine, upscale, bench, download, makeTinyModel, data, train, evalCommand, exportCommand];
