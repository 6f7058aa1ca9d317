// Prerequisite checks: each failure is ONE line saying what to install or run.
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TOOLS_DIR } from './env.ts';

/** A missing tool. The message is one line, and no stack trace is printed for it. */
export class HarnessPrerequisiteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HarnessPrerequisiteError';
    this.stack = `${this.name}: ${message}`;
  }
}

export const MIN_JAVA_MAJOR = 17;

export interface JavaRuntime {
  command: string;
  major: number;
  version: string;
}

/** `$JAVA_HOME/bin/java` when JAVA_HOME is set and has one, else `java` from PATH. */
export function javaCommand(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.JAVA_HOME;
  if (home !== undefined && home !== '') {
    const candidate = join(home, 'bin', 'java');
    if (existsSync(candidate)) return candidate;
  }
  return 'java';
}

export function parseJavaVersion(output: string): { major: number; version: string } | undefined {
  const match = /version "([^"]+)"/.exec(output);
  const version = match?.[1];
  if (version === undefined) return undefined;
  const parts = version.split(/[._+-]/).map((p) => Number.parseInt(p, 10));
  const first = parts[0];
  if (first === undefined || Number.isNaN(first)) return undefined;
  const major = first === 1 ? (parts[1] ?? Number.NaN) : first; // "1.8.0_392" is Java 8
  return Number.isNaN(major) ? undefined : { major, version };
}

export async function checkJava(env: NodeJS.ProcessEnv = process.env): Promise<JavaRuntime> {
  const command = javaCommand(env);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(command, ['-version'], { env, timeout: 20_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new HarnessPrerequisiteError(
            `java not found: install a Java ${MIN_JAVA_MAJOR}+ runtime (e.g. \`apt-get install openjdk-17-jre-headless\`) or set JAVA_HOME`,
          ),
        );
        return;
      }
      resolve(`${stderr}${stdout}`);
    });
  });
  const parsed = parseJavaVersion(output);
  if (parsed === undefined) {
    throw new HarnessPrerequisiteError(
      `\`${command} -version\` printed no version: install a Java ${MIN_JAVA_MAJOR}+ runtime`,
    );
  }
  if (parsed.major < MIN_JAVA_MAJOR) {
    throw new HarnessPrerequisiteError(
      `java ${parsed.version} is too old for DynamoDB Local 3.x: install a Java ${MIN_JAVA_MAJOR}+ runtime or point JAVA_HOME at one`,
    );
  }
  return { command, ...parsed };
}

/** Checks `.tools/dynamodb-local` (jars + sqlite4java natives for this platform); returns the dir. */
export function checkDynamoDbLocalInstall(toolsDir: string = TOOLS_DIR): string {
  const dir = join(toolsDir, 'dynamodb-local');
  const fix = 'run `bash scripts/tools.sh ddb` (needs Java 17+ and Maven)';
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    throw new HarnessPrerequisiteError(`DynamoDB Local is not installed (${dir} missing): ${fix}`);
  }
  if (!files.some((f) => /^DynamoDBLocal.*\.jar$/.test(f))) {
    throw new HarnessPrerequisiteError(`DynamoDB Local jar missing in ${dir}: ${fix}`);
  }
  const native =
    process.platform === 'linux' && process.arch === 'x64'
      ? 'libsqlite4java-linux-amd64.so'
      : process.platform === 'darwin'
        ? 'libsqlite4java-osx.dylib'
        : undefined;
  if (native !== undefined && !files.includes(native)) {
    throw new HarnessPrerequisiteError(`sqlite4java native library ${native} missing in ${dir}: ${fix}`);
  }
  return dir;
}

/** Checks `.tools/bin/moto_server` and the Python interpreter of its venv; returns its path. */
export function checkMotoInstall(toolsDir: string = TOOLS_DIR): string {
  const path = join(toolsDir, 'bin', 'moto_server');
  const fix = 'run `bash scripts/tools.sh python` (needs python3 with venv)';
  try {
    lstatSync(path);
  } catch {
    throw new HarnessPrerequisiteError(`moto server is not installed (${path} missing): ${fix}`);
  }
  try {
    statSync(path);
  } catch {
    throw new HarnessPrerequisiteError(`${path} points to a removed venv: ${fix}`);
  }
  const firstLine = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
  const interpreter = firstLine.startsWith('#!') ? firstLine.slice(2).trim().split(/\s+/)[0] : undefined;
  if (interpreter?.startsWith('/') && !existsSync(interpreter)) {
    throw new HarnessPrerequisiteError(
      `moto server's Python interpreter ${interpreter} is missing (is python3 installed?): ${fix}`,
    );
  }
  return path;
}
