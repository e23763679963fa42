/** A <progress> element with a stage label. */
export class ProgressView {
  constructor(
    private readonly bar: HTMLProgressElement,
    private readonly label: HTMLElement,
  ) {}

  /** `fraction` in [0, 1]; undefined shows an indeterminate bar. */
  show(stage: string, fraction: number | undefined): void {
    if (fraction === undefined) this.bar.removeAttribute('value');
    else this.bar.value = Math.min(1, Math.max(0, fraction));
    this.label.textContent = stage;
  }

  done(text: string): void {
    this.bar.value = 1;
    this.label.textContent = text;
  }
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}
