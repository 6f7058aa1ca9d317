// Guard process for the emulators the test harness starts (plain Node, no TypeScript loader needed).
//
//   node guard.mjs <watch-pid> <run-tag> -- <command> [args...]
//
// The harness spawns this script with an IPC channel; the guard spawns <command> in a process group
// of its own (and, on Linux, through `setpriv --pdeathsig KILL` so that the command dies with the
// guard even if the guard is SIGKILLed). It then kills the command's whole process group when:
//   - the IPC channel to the harness closes (the harness exited, crashed or was SIGKILLed),
//   - <watch-pid> disappears or this process is re-parented (belt and braces for the above),
//   - the harness asks for it ({ type: 'stop', signal, graceMs }), or the guard gets SIGTERM/SIGHUP.
// SIGTERM first, SIGKILL after the grace period: a JVM that ignores or is slow on SIGTERM still dies.
//
// Messages to the harness: { type: 'started', pid } | { type: 'spawn-error', message }
//                          | { type: 'exited', code, signal }.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
const watchPid = Number(argv[0]);
const command = sep >= 0 ? argv[sep + 1] : undefined;
const commandArgs = sep >= 0 ? argv.slice(sep + 2) : [];
const POLL_MS = 250;
const DEFAULT_GRACE_MS = 3000;

function log(message) {
  process.stderr.write(`[guard ${process.pid}] ${message}\n`);
}

function send(message) {
  if (process.connected && typeof process.send === 'function') {
    try {
      process.send(message);
    } catch {
      // The harness is gone; nothing to tell.
    }
  }
}

if (!Number.isInteger(watchPid) || watchPid <= 0 || command === undefined) {
  log('usage: node guard.mjs <watch-pid> <run-tag> -- <command> [args...]');
  process.exit(2);
}

function findSetpriv() {
  if (process.platform !== 'linux' || process.env.ALA_HARNESS_NO_SETPRIV === '1') return undefined;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter).concat(['/usr/bin', '/bin'])) {
    if (dir === '') continue;
    const candidate = join(dir, 'setpriv');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  return undefined;
}

const initialPpid = process.ppid;
let child;
let childExited = false;
let shuttingDown = false;
let exitInfo = { code: null, signal: null };

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error?.code === 'EPERM';
  }
}

function killGroup(signal) {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal); // the whole process group (detached => setsid)
  } catch {
    try {
      process.kill(child.pid, signal);
    } catch {
      // already gone
    }
  }
}

let finished = false;
function finish() {
  if (finished) return;
  finished = true;
  // Whatever the command left behind in its group goes too.
  killGroup('SIGKILL');
  const code = typeof exitInfo.code === 'number' ? exitInfo.code : 0;
  const exit = () => process.exit(code);
  if (process.connected && typeof process.send === 'function') {
    setTimeout(exit, 500).unref();
    try {
      process.send({ type: 'exited', code: exitInfo.code, signal: exitInfo.signal }, exit);
    } catch {
      exit();
    }
  } else {
    exit();
  }
}

function shutdown(reason, signal = 'SIGTERM', graceMs = DEFAULT_GRACE_MS) {
  if (shuttingDown) {
    if (signal === 'SIGKILL') killGroup('SIGKILL');
    return;
  }
  shuttingDown = true;
  if (reason !== 'stop requested') log(`stopping ${command}: ${reason}`);
  if (child === undefined || childExited) {
    finish();
    return;
  }
  killGroup(signal);
  if (signal !== 'SIGKILL') {
    setTimeout(() => {
      if (!childExited) {
        log(`${command} still running ${graceMs} ms after ${signal}: SIGKILL`);
        killGroup('SIGKILL');
      }
    }, graceMs).unref();
  }
  // Last resort: never outlive the child by more than a few seconds.
  setTimeout(() => finish(), graceMs + 5000).unref();
}

process.on('disconnect', () => shutdown('harness disconnected', 'SIGKILL'));
process.on('SIGTERM', () => shutdown('guard got SIGTERM'));
process.on('SIGHUP', () => shutdown('guard got SIGHUP'));
// Ctrl-C reaches the whole foreground process group; the harness decides (and we follow it via
// 'disconnect' if it exits without asking us).
process.on('SIGINT', () => {});
process.on('message', (message) => {
  if (message && typeof message === 'object' && message.type === 'stop') {
    const signal = message.signal === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM';
    const graceMs = typeof message.graceMs === 'number' ? message.graceMs : DEFAULT_GRACE_MS;
    shutdown('stop requested', signal, graceMs);
  }
});

const watcher = setInterval(() => {
  if (process.ppid !== initialPpid || !alive(watchPid)) shutdown(`process ${watchPid} is gone`, 'SIGKILL');
}, POLL_MS);

if (!process.connected || !alive(watchPid)) {
  log('harness already gone before start');
  process.exit(0);
}

const setpriv = findSetpriv();
const file = setpriv ?? command;
const args = setpriv ? ['--pdeathsig', 'KILL', '--', command, ...commandArgs] : commandArgs;
child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
child.on('error', (error) => {
  childExited = true;
  log(`cannot start ${command}: ${error.message}`);
  send({ type: 'spawn-error', message: `cannot start ${command}: ${error.message}` });
  clearInterval(watcher);
  exitInfo = { code: 127, signal: null };
  finish();
});
child.on('spawn', () => send({ type: 'started', pid: child.pid, pdeathsig: setpriv !== undefined }));
child.on('exit', (code, signal) => {
  childExited = true;
  exitInfo = { code, signal };
  clearInterval(watcher);
  if (!shuttingDown) log(`${command} exited on its own (code ${code}, signal ${signal})`);
  finish();
});
