import type { Command } from '../io.js';
import { download } from './download.js';
import { generate } from './generate.js';
import { refine } from './refine.js';

/** Every command, in the order `sdxs --help` lists them. */
export const COMMANDS: readonly Command[] = [generate, refine, download];
