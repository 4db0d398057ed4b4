// A registry on 127.0.0.1 that lies: it serves a valid manifest and config for a
// kernel-cache image, and answers the layer's GET with whatever `serveLayer`
// does (a body without end, a drip, a stall). Everything it sent is counted.
import { createHash } from "node:crypto";
import http, { type ServerResponse } from "node:http";

export const REPO = "hostile/cache";

export interface HostileOptions {
  /** the size the manifest lists for each layer */
  layerSizes: number[];
  /** answers a layer's GET; calls `count` with each chunk's length */
  serveLayer: (res: ServerResponse, count: (bytes: number) => void) => void;
}

export interface HostileRegistry {
  host: string;
  /** "METHOD path" of each request */
  requests: string[];
  layerDigests: string[];
  /** layer bytes written to sockets so far */
  layerBytesSent: () => number;
  stop(): Promise<void>;
}

const sha = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export async function startHostileRegistry(o: HostileOptions): Promise<HostileRegistry> {
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "cache.triton.image/summary": '{"targets":[]}' } },
      rootfs: { type: "layers", diff_ids: [] },
    }),
  );
  // digests of bytes no one will ever send: the lie is in the size and the stream
  const layers = o.layerSizes.map((size, i) => ({
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    digest: sha(`layer ${i}`),
    size,
  }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha(config), size: config.length },
      layers,
    }),
  );
  const requests: string[] = [];
  const state = { sent: 0 };
  const server = http.createServer((req, res) => {
    const path = req.url ?? "/";
    requests.push(`${req.method} ${path}`);
    if (path === "/v2/") return void res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    if (path.startsWith(`/v2/${REPO}/manifests/`)) {
      res.writeHead(200, {
        "Content-Type": "application/vnd.oci.image.manifest.v1+json",
        "Docker-Content-Digest": sha(manifest),
      });
      return void res.end(manifest);
    }
    if (path === `/v2/${REPO}/blobs/${sha(config)}`) return void res.writeHead(200).end(config);
    if (!layers.some((l) => path === `/v2/${REPO}/blobs/${l.digest}`)) return void res.writeHead(404).end();
    o.serveLayer(res, (n) => {
      state.sent += n;
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    layerDigests: layers.map((l) => l.digest),
    layerBytesSent: () => state.sent,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * Writes 64 KiB chunks as fast as the client takes them, without end; stops at
 * `safety` bytes only so that a client without a cap does not fill the disk.
 */
export function endless(safety = 256 * 1024 * 1024): HostileOptions["serveLayer"] {
  return (res, count) => {
    res.writeHead(200, { "Content-Type": "application/octet-stream" });
    const chunk = Buffer.alloc(64 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < safety && !res.destroyed) {
        sent += chunk.length;
        count(chunk.length);
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    res.on("close", () => {
      sent = safety;
    });
    pump();
  };
}

/** One byte every `everyMs`, with an honest Content-Length: never idle, never done. */
export function drip(size: number, everyMs: number): HostileOptions["serveLayer"] {
  return (res, count) => {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(size) });
    const t = setInterval(() => {
      count(1);
      res.write(Buffer.from([0]));
    }, everyMs);
    res.on("close", () => clearInterval(t));
  };
}

/** `first` bytes, then nothing: a download that stays in flight until the client goes. */
export function stall(size: number, first: number): HostileOptions["serveLayer"] {
  return (res, count) => {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": String(size) });
    count(first);
    res.write(Buffer.alloc(first, 1));
  };
}
