/**
 * Validation of the request bodies agents post: the envelope
 * (`{event, param, servo_uid?}`) and the shape of each event's param.
 * Anything malformed is an {@link HttpError} with status 400 and a message
 * that says what is wrong; nothing here throws anything else.
 */
import { readCapped } from "../bytes.ts";
import { isRecord } from "../record.ts";

/** An HTTP error with a status and a message for the client. */
export class HttpError extends Error {
  override name = "HttpError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The events of the protocol. */
export const EVENTS = [
  "HELLO",
  "WHATS_NEXT",
  "DESCRIPTION",
  "MEASUREMENT",
  "ADJUSTMENT",
  "GOODBYE",
] as const;

/** A validated event. */
export interface ValidEvent {
  event: (typeof EVENTS)[number];
  param: Record<string, unknown> | null;
  servoUid?: string;
}

function bad(msg: string): never {
  throw new HttpError(400, msg);
}

function optString(p: Record<string, unknown>, key: string, where: string): void {
  const v = p[key];
  if (v !== undefined && v !== null && typeof v !== "string") {
    bad(`${where}.${key} must be a string`);
  }
}

function optNumber(p: Record<string, unknown>, key: string, where: string): void {
  const v = p[key];
  if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
    bad(`${where}.${key} must be a number`);
  }
}

function checkProgress(p: Record<string, unknown>, where: string): void {
  optNumber(p, "progress", where);
  optNumber(p, "runtime", where);
  optString(p, "cmd_uid", where);
  const m = p.message;
  if (m !== undefined && m !== null && typeof m !== "string") {
    bad(`${where}.message must be a string`);
  }
}

function checkCompletion(p: Record<string, unknown>, where: string): void {
  optString(p, "status", where);
  optString(p, "cmd_uid", where);
}

/** Validate a parsed JSON body. Throws HttpError(400) when it is not a valid event. */
export function validateEnvelope(body: unknown): ValidEvent {
  if (!isRecord(body)) bad("the body must be a JSON object {event, param}");
  const event = body.event;
  if (typeof event !== "string") bad("the body has no event name (a string in event)");
  if (!(EVENTS as readonly string[]).includes(event)) {
    bad(`unknown event ${JSON.stringify(event.slice(0, 50))} (known: ${EVENTS.join(", ")})`);
  }
  const param = body.param ?? null;
  if (param !== null && !isRecord(param)) bad(`${event}: param must be an object or null`);
  const servoUid = body.servo_uid;
  if (servoUid !== undefined && servoUid !== null && typeof servoUid !== "string") {
    bad("servo_uid must be a string");
  }
  const where = `${event} param`;
  switch (event) {
    case "HELLO":
      if (param) optString(param, "agent", where);
      break;
    case "GOODBYE":
      if (param) optString(param, "reason", where);
      break;
    case "WHATS_NEXT":
      break;
    case "DESCRIPTION": {
      if (!param) bad("DESCRIPTION needs a param object");
      checkCompletion(param, where);
      const status = param.status ?? "ok";
      if (status === "ok") {
        if (!isRecord(param.descriptor)) bad("DESCRIPTION param.descriptor must be an object");
        const d = param.descriptor;
        if (!isRecord(d.application)) bad("DESCRIPTION descriptor.application must be an object");
        if (d.measurement !== undefined && d.measurement !== null && !isRecord(d.measurement)) {
          bad("DESCRIPTION descriptor.measurement must be an object");
        }
        if (
          d.optimization !== undefined && d.optimization !== null &&
          !isRecord(d.optimization)
        ) bad("DESCRIPTION descriptor.optimization must be an object");
      }
      break;
    }
    case "MEASUREMENT":
    case "ADJUSTMENT": {
      if (!param) bad(`${event} needs a param object`);
      if (Object.hasOwn(param, "progress")) {
        checkProgress(param, where);
      } else {
        checkCompletion(param, where);
        if (event === "MEASUREMENT") {
          const m = param.metrics;
          if (m !== undefined && m !== null && !isRecord(m)) {
            bad("MEASUREMENT param.metrics must be an object");
          }
          if (isRecord(m)) {
            for (const [k, v] of Object.entries(m)) {
              if (!isRecord(v)) {
                bad(
                  `MEASUREMENT metric ${JSON.stringify(k)} must be an object {value} or {values}`,
                );
              }
              if (v.values !== undefined && v.values !== null && !Array.isArray(v.values)) {
                bad(`MEASUREMENT metric ${JSON.stringify(k)}: values must be a list`);
              }
            }
          }
        } else {
          const st = param.state;
          if (st !== undefined && st !== null && !isRecord(st)) {
            bad("ADJUSTMENT param.state must be an object");
          }
        }
      }
      break;
    }
  }
  const out: ValidEvent = { event: event as ValidEvent["event"], param };
  if (typeof servoUid === "string") out.servoUid = servoUid;
  return out;
}

/**
 * Read a request body as JSON with a size limit: 413 when larger, 400 when
 * it is not JSON.
 */
export async function readJsonBody(req: Request, limit: number): Promise<unknown> {
  const len = req.headers.get("content-length");
  if (len !== null && Number(len) > limit) {
    throw new HttpError(413, `the body is larger than ${limit} bytes`);
  }
  if (!req.body) throw new HttpError(400, "the body is empty; send a JSON object {event, param}");
  const buf = await readCapped(req.body, limit);
  if (buf === null) throw new HttpError(413, `the body is larger than ${limit} bytes`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new HttpError(400, "the body is not valid UTF-8");
  }
  if (text.trim() === "") {
    throw new HttpError(400, "the body is empty; send a JSON object {event, param}");
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, `the body is not JSON: ${(err as Error).message}`);
  }
}
