import { Worker } from "node:worker_threads";

/** Run from source (the tests), a worker must register the TypeScript loader itself. */
export function workerFactory(name: string, workerData: object): () => Worker {
  if (!import.meta.url.endsWith(".ts"))
    return () => new Worker(new URL(`./${name}.js`, import.meta.url), { workerData });
  const url = new URL(`./${name}.ts`, import.meta.url).href;
  const code = `import("tsx/esm/api").then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
  return () => new Worker(code, { eval: true, workerData });
}
