// How numbers read in the console: money from minor units, bytes in binary
// units, counts with separators, instants in the reader's locale.

export function money(minor: number, currency = "USD"): string {
  return new Intl.NumberFormat("en-US", { style: "currency", currency }).format(minor / 100);
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function count(n: number): string {
  return new Intl.NumberFormat("en-US").format(n);
}

export function when(rfc3339: string | null | undefined): string {
  if (!rfc3339) return "—";
  return new Date(rfc3339).toLocaleString();
}

export function duration(ms: number): string {
  if (ms < 0) return "forever";
  const day = 86_400_000;
  if (ms % day === 0) return `${ms / day} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  return `${Math.round(ms / 1000)} s`;
}
