/**
 * Ctrl-C and SIGTERM during a run: the run is asked to stop after its iteration in flight (everything is
 * written), instead of the process dying mid-transaction.
 */
export function stopAfterIteration(): { stopped: () => boolean; release: () => void } {
  let stopped = false;
  const onSignal = () => {
    stopped = true;
    process.stderr.write('\nstopping after this iteration…\n');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    stopped: () => stopped,
    release: () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    },
  };
}
