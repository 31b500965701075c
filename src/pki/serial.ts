/** Serials compare as lower-case hex without leading zeros, however a tool printed them. */
export function normalizeSerial(serial: string): string {
  return serial.replace(/:/g, '').toLowerCase().replace(/^0+/, '');
}
