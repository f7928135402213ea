import type { Command } from '../command.ts';

/** Every subcommand, in the order `reverie --help` lists them. */
export const commands: Command[] = [];
