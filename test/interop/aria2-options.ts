/** The aria2c options every interop run gets: one interface only, no DHT/LPD/PEX, no config file, quiet. */
export function aria2CommonOptions(iface: string): string[] {
  return [
    '--no-conf=true',
    `--interface=${iface}`,
    '--listen-port=40000-59999',
    '--enable-dht=false',
    '--enable-dht6=false',
    '--bt-enable-lpd=false',
    '--enable-peer-exchange=false',
    '--file-allocation=none',
    '--allow-overwrite=true',
    '--auto-file-renaming=false',
    '--summary-interval=0',
    '--console-log-level=warn',
    '--bt-stop-timeout=60',
    `--stop-with-process=${process.pid}`,
  ];
}
