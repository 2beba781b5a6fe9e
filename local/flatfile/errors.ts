/** Errors a handler throws to answer with a status and `{ errors: [{ key?, message }] }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly key?: string,
  ) {
    super(message);
  }
}
export const notFound = (what: string, id: string) => new HttpError(404, `${what} ${id} not found`);
export const badRequest = (message: string, key?: string) => new HttpError(400, message, key);

export function throwIt(error: Error): never {
  throw error;
}
