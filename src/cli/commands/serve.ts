import { storePath } from '../../store/database.ts';
import { isLoopback } from '../../server/http.ts';
import { DEFAULT_HOST, DEFAULT_PORT, startServer } from '../../server/server.ts';
import type { Command } from '../command.ts';
import { numberOption } from '../numbers.ts';
import { STORE_HELP, STORE_OPTION } from '../runs.ts';

const usage = `Usage: reverie serve [--store PATH] [--port ${DEFAULT_PORT}] [--host ${DEFAULT_HOST}]

A local web app over the store, at the printed URL: the models, sweeps (live while they run), dreams and
scans; a page per layer (a sweep or a multi-feature scan) and per feature (/m/MODEL/f/HOOK/INDEX: the paper's
figure, dreams shaded by attribution, dataset examples shaded by activation, the histogram, the frontier over
iterations), where "Dream this feature" starts a dream on this server (as many at once as the cores hold),
followed live and cancelled from the page (what was done is kept). Ctrl-C stops the dreams after their
iteration, keeps them, and ends the server.

It binds ${DEFAULT_HOST} by default and then answers only to localhost names. Another --host (0.0.0.0, an
address of this machine) makes the store readable, and dreams startable, by anyone on the network.

Options:
      --port N     the port (default ${DEFAULT_PORT}; 0 for any free one)
      --host ADDR  the address to bind (default ${DEFAULT_HOST})
${STORE_HELP}`;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'local web UI over the store: layers, features, live dreams',
  usage,
  options: { port: { type: 'string' }, host: { type: 'string' }, ...STORE_OPTION },
  async run(values) {
    const port = numberOption(values, 'port', DEFAULT_PORT, {
      usage,
      max: { value: 65535, why: 'the largest TCP port' },
    });
    const host = (values.host as string | undefined) ?? DEFAULT_HOST;
    if (!isLoopback(host))
      process.stderr.write(
        `warning: --host ${host} makes the store readable, and dreams startable, by the network: ` +
          `anyone who reaches this address reads every run, scan and sweep in it\n`,
      );
    const store = storePath(values.store as string | undefined);
    const server = await startServer({ store, port, host });
    console.log(`reverie serve: ${server.url} (store ${store}; Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = () => {
        if (stopping) process.exit(130);
        stopping = true;
        process.stderr.write('\nstopping: dreams end after their iteration, kept (again to quit at once)…\n');
        server.close().then(resolve, resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
