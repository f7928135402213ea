// The CLI's entry point (bin/reverie.js imports it): runs main (cli.ts) on the process's arguments.
import { main } from './cli.ts';

process.exitCode = await main(process.argv.slice(2));
