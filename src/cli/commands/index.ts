import type { Command } from '../command.ts';
import { attributeCommand } from './attribute.ts';
import { compareCommand } from './compare.ts';
import { dreamCommand } from './dream.ts';
import { frontierCommand } from './frontier.ts';
import { generateCommand } from './generate.ts';
import { scanCommand } from './scan.ts';
import { serveCommand } from './serve.ts';
import { sweepCommand } from './sweep.ts';
import { redteamCommand } from './redteam.ts';
import { thresholdCommand } from './threshold.ts';
import { traceCommand } from './trace.ts';
import { workerCommand } from './worker.ts';
import { exportCommand, importCommand, lsCommand, rmCommand, showCommand } from './store.ts';

/** Every subcommand, in the order `reverie --help` lists them. */
export const commands: Command[] = [
  dreamCommand,
  frontierCommand,
  attributeCommand,
  scanCommand,
  sweepCommand,
  workerCommand,
  thresholdCommand,
  redteamCommand,
  compareCommand,
  serveCommand,
  generateCommand,
  traceCommand,
  lsCommand,
  showCommand,
  rmCommand,
  exportCommand,
  importCommand,
];
