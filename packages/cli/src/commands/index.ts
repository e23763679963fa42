import type { Command } from '../io.js';
import { download } from './download.js';

/** Every command, in the order `sdxs --help` lists them. */
export const COMMANDS: readonly Command[] = [download];
