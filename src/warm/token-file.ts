// --hugging-face-token-file: the token from a file or stdin, never from argv (where `ps` shows it).
import { readFileSync } from "node:fs";
import { McmError } from "../core/errors.js";

export function readTokenFile(path: string): string {
  const flag = `--hugging-face-token-file ${path}`;
  // typed on a terminal, the token would echo on screen
  if (path === "-" && process.stdin.isTTY) {
    throw new McmError(`${flag}: stdin is a terminal; pipe the token in, or set HF_TOKEN`);
  }
  let text: string;
  try {
    text = readFileSync(path === "-" ? 0 : path, "utf8");
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === "ENOENT" ? "no such file" : err.code === "EACCES" ? "permission denied" : err.message;
    throw new McmError(`cannot read ${flag}: ${why}`);
  }
  const token = text.trim();
  if (token === "") throw new McmError(`${flag} holds no token`);
  if (/\s/.test(token)) throw new McmError(`${flag} must hold the token alone, on one line`);
  return token;
}
