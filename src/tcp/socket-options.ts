/**
 * Options for every TCP socket a router opens or accepts. allowHalfOpen keeps a socket
 * writable after its peer's FIN, which half-close needs; noDelay stops Nagle from
 * holding back small request/response messages.
 */
export const tcpSocketOptions = { allowHalfOpen: true, noDelay: true } as const;
