import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packagePath, packageRoot } from '../common/paths.js';

// The software a sweep is measured with, recorded with every sweep and checked by --resume:
// numa-sweep's own version and git revision, and the engine packages' versions.

export function toolVersion(): string {
  const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export function gitRevision(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

/** Versions of the engine packages installed (read from their package.json, not loaded). */
export function engineVersions(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const versions: Record<string, string> = {};
  const packages: Record<string, string> = {
    onnxruntime: 'onnxruntime-node',
    'tfjs-wasm': '@tensorflow/tfjs-backend-wasm',
    'tfjs-node': '@tensorflow/tfjs-node',
  };
  for (const [engine, pkg] of Object.entries(packages)) {
    try {
      versions[engine] = (require(`${pkg}/package.json`) as { version: string }).version;
    } catch {
      versions[engine] = 'not installed';
    }
  }
  return versions;
}
