/**
 * The server's errors: each carries its HTTP status and is answered as `{error: name, message}`. Errors of
 * the layers below map to a status by their kind (a missing run is a 404, a bad target a 400); anything
 * else is a 500 that names it, and the server goes on.
 */
import { OptionsError } from '../dream/options.ts';
import { RunError } from '../dream/run.ts';
import { TargetSpecError } from '../objectives/target.ts';
import { RunBusyError, RunNotFoundError } from '../store/errors.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request the server cannot read: a malformed id, body or URL. */
export class BadRequestError extends HttpError {
  override name = 'BadRequestError';
  constructor(message: string) {
    super(400, message);
  }
}

/** A request from another origin, or for a path outside what the server serves. */
export class ForbiddenError extends HttpError {
  override name = 'ForbiddenError';
  constructor(message: string) {
    super(403, message);
  }
}

export class NotFoundError extends HttpError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(404, message);
  }
}

export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor(
    message: string,
    readonly allow: string,
  ) {
    super(405, message);
  }
}

/** Work that cannot be done in the state things are in (cancelling a run this server does not run). */
export class ConflictError extends HttpError {
  override name = 'ConflictError';
  constructor(message: string) {
    super(409, message);
  }
}

export class PayloadTooLargeError extends HttpError {
  override name = 'PayloadTooLargeError';
  constructor(message: string) {
    super(413, message);
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  override name = 'UnsupportedMediaTypeError';
  constructor(message: string) {
    super(415, message);
  }
}

/** Every core is busy with dreams: the request is refused, not queued. */
export class BusyError extends HttpError {
  override name = 'BusyError';
  constructor(message: string) {
    super(429, message);
  }
}

/** The status an error is answered with. */
export function statusOf(error: unknown): number {
  if (error instanceof HttpError) return error.status;
  if (error instanceof RunNotFoundError) return 404;
  if (error instanceof TargetSpecError || error instanceof OptionsError || error instanceof RunError)
    return 400;
  if (error instanceof RunBusyError) return 409;
  return 500;
}
