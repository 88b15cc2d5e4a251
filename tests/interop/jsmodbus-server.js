// A Modbus TCP server written by others (jsmodbus), serving fixed values for wattaudit's
// interoperability test (tests/meters/collect/test_collect_live.c, test_jsmodbus).
//   node jsmodbus-server.js PORTFILE
// Listens on 127.0.0.1 on a port the kernel picks and writes that port to PORTFILE.
// Values are encoded here with Node's Buffer writers, which are true big-endian; word-swapped
// (CDAB) rows are built by swapping the two 16-bit halves of the big-endian bytes.
'use strict';
const fs = require('fs');
const net = require('net');
const modbus = require('jsmodbus');

const holding = Buffer.alloc(1024);
const input = Buffer.alloc(1024);

function cdab(buf, byteOffset, writer, value) {
  const t = Buffer.alloc(4);
  t[writer](value, 0);
  t.copy(buf, byteOffset, 2, 4);
  t.copy(buf, byteOffset + 2, 0, 2);
}

holding.writeFloatBE(230.5, 0);                      // reg 0: float32 ABCD, V
cdab(holding, 4, 'writeFloatBE', 1.2345);            // reg 2: float32 CDAB, kW
holding.writeDoubleBE(49.987654321, 60);             // reg 30: float64 ABCD, Hz
input.writeUInt32BE(123456789, 20);                  // input 10: u32 ABCD, Wh
input.writeInt16BE(-870, 24);                        // input 12: s16, pf x 1000
cdab(input, 40, 'writeInt32BE', 70000123);           // input 20: s32 CDAB, mA

const netServer = new net.Server();
new modbus.server.TCP(netServer, { holding, input });
netServer.listen(0, '127.0.0.1', () => {
  const portfile = process.argv[2];
  fs.writeFileSync(portfile + '.tmp', String(netServer.address().port));
  fs.renameSync(portfile + '.tmp', portfile);
});
process.on('SIGTERM', () => process.exit(0));
