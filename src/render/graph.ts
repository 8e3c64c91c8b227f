/** Inputs and filter chains of one ffmpeg run, built up by the mode modules. */
export class FilterGraph {
  private readonly args: string[] = [];
  private readonly chainList: string[] = [];
  private inputs = 0;
  private labels = 0;

  /** Adds an input file (with options that go before its -i) and answers its index. */
  input(file: string, options: readonly string[] = []): number {
    this.args.push(...options, '-i', file);
    return this.inputs++;
  }

  /** A fresh link label such as `[card3]`. */
  label(name: string): string {
    return `[${name}${this.labels++}]`;
  }

  /** One chain: `[in]filter,filter[out]`. */
  add(chain: string): void {
    this.chainList.push(chain);
  }

  get inputArgs(): string[] {
    return [...this.args];
  }

  get filterComplex(): string {
    return this.chainList.join(';');
  }
}

/**
 * Input options for a still image file. ffmpeg's image2 demuxer reads `%d` sequences (and, on 4.1,
 * globs) in file names, so a path with such characters is opened as exactly that one file.
 */
export function stillInputOptions(file: string): string[] {
  return /[%*?[\]{}]/.test(file) ? ['-f', 'image2', '-pattern_type', 'none'] : [];
}
