import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { findOnPath } from '../../src/tools/binary-lookup.js';

/**
 * Programs some tests run that no npm package ships. Fresh machines of this project's kind (Debian,
 * root) come with all of them; where one is missing, the test command installs it with apt rather
 * than letting the tests that need it fail obscurely or skip.
 */
export interface SystemTool {
  command: string;
  debianPackage: string;
  /** More Debian packages, without a command of their own, installed together with the tool's. */
  alsoInstall?: readonly string[];
  neededFor: string;
}

export const SYSTEM_TOOLS: readonly SystemTool[] = [
  { command: 'curl', debianPackage: 'curl', neededFor: "the README's curl example (test/api/curl-example.test.ts)" },
  { command: 'python3', debianPackage: 'python3', neededFor: 'Python HTTP peers (test/helpers/foreign)' },
  { command: 'script', debianPackage: 'bsdutils', neededFor: "the CLI's progress bar on a terminal (test/cli/generate.test.ts)" },
  { command: 'ps', debianPackage: 'procps', neededFor: 'process checks (test/tasks/crash-recovery.test.ts)' },
  // Headless with --no-install-recommends is enough to run and play vidgate's MP4s: the dependencies
  // bring a Latin font (fonts-dejavu-core, through fontconfig-config) and Mesa, and H.264/AAC decoding
  // is built into Debian's Chromium. Neither those fonts nor the recommended ones have CJK glyphs, so
  // the console's Chinese UI would be boxes in screenshots and measure wrong in layout checks:
  // WenQuanYi Micro Hei (1.6 MB) covers it.
  {
    command: 'chromium',
    debianPackage: 'chromium',
    alsoInstall: ['fonts-wqy-microhei'],
    neededFor: "the console's browser tests (test/console)",
  },
];

export interface ProvisionDeps {
  findCommand(name: string): Promise<string | null>;
  isRoot: boolean;
  /** apt-get's path, null where there is none. */
  aptGet: string | null;
  run(file: string, args: string[]): Promise<void>;
  log(line: string): void;
}

/** Installs the Debian packages of the missing tools (as root with apt); returns those installed. */
export async function provisionSystemTools(deps: ProvisionDeps, tools: readonly SystemTool[] = SYSTEM_TOOLS): Promise<string[]> {
  const missing = await missingTools(deps, tools);
  if (missing.length === 0) return [];
  const packages = [...new Set(missing.flatMap((tool) => [tool.debianPackage, ...(tool.alsoInstall ?? [])]))];
  const what = missing.map((tool) => `${tool.command} (for ${tool.neededFor})`).join(', ');
  if (!deps.isRoot || !deps.aptGet) {
    throw new Error(`the tests need ${what}: install the Debian packages ${packages.join(' ')} (apt-get install ${packages.join(' ')})`);
  }
  deps.log(`installing ${packages.join(' ')} with apt-get: missing ${what}`);
  await deps.run(deps.aptGet, ['update', '-qq']);
  await deps.run(deps.aptGet, ['install', '-y', '-qq', '--no-install-recommends', ...packages]);
  const stillMissing = await missingTools(deps, missing);
  if (stillMissing.length > 0) {
    throw new Error(`apt-get installed ${packages.join(' ')}, yet ${stillMissing.map((tool) => tool.command).join(', ')} is still not on PATH`);
  }
  return packages;
}

async function missingTools(deps: ProvisionDeps, tools: readonly SystemTool[]): Promise<SystemTool[]> {
  const found = await Promise.all(tools.map((tool) => deps.findCommand(tool.command)));
  return tools.filter((_, i) => found[i] === null);
}

const execFileAsync = promisify(execFile);

export async function machineProvisionDeps(): Promise<ProvisionDeps> {
  return {
    findCommand: (name) => findOnPath(name),
    isRoot: process.getuid?.() === 0,
    aptGet: await findOnPath('apt-get'),
    run: async (file, args) => {
      await execFileAsync(file, args, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, maxBuffer: 16 * 1024 * 1024 });
    },
    log: (line) => console.log(line),
  };
}
