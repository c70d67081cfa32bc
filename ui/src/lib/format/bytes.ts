/** A size for a person: "512 B", "3.4 KB", "1.2 MB" (powers of 1024). */
export function formatBytes(size: bigint | number): string {
  const n = Number(size);
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value >= 10 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

/** A count with thousands separators ("12,345"). */
export function formatCount(n: bigint | number): string {
  return typeof n === "bigint" ? n.toLocaleString() : Math.round(n).toLocaleString();
}
