#!/usr/bin/env node
// Connects to a secured lab with kafkajs over SASL/SCRAM-SHA-512 (as the NestJS docs' client does),
// sends one message to TOPIC and prints the brokers' metadata as JSON on stdout. Used by
// tests/e2e/test_security.py with what `kafkalab connect --format json --show-secrets` prints.
//
//   node scram.js BROKERS USERNAME PASSWORD TOPIC [CA_FILE]
//
// With CA_FILE, over TLS, trusting only that CA (the host name is verified). Exit 0 once the message
// was sent; exit 1 on any error (a refused login included).
'use strict';

const fs = require('fs');
const { Kafka, logLevel } = require('kafkajs');

function fail(message) {
  process.stderr.write(`scram: ${message}\n`);
  process.exit(1);
}

const [brokers, username, password, topic, caFile] = process.argv.slice(2);
if (!brokers || !username || !password || !topic) fail('usage: node scram.js BROKERS USERNAME PASSWORD TOPIC [CA_FILE]');

const kafka = new Kafka({
  clientId: 'kafkalab-scram',
  brokers: brokers.split(','),
  ssl: caFile ? { ca: [fs.readFileSync(caFile, 'utf-8')], rejectUnauthorized: true } : false,
  sasl: { mechanism: 'scram-sha-512', username, password },
  logLevel: logLevel.NOTHING,
  retry: { retries: 2 },
});

async function main() {
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();
  await producer.send({ topic, messages: [{ key: 'k', value: 'from kafkajs' }] });
  await producer.disconnect();
  const admin = kafka.admin();
  await admin.connect();
  const cluster = await admin.describeCluster();
  await admin.disconnect();
  process.stdout.write(`${JSON.stringify({ brokers: cluster.brokers.length })}\n`);
}

main().catch((error) => fail(error.message || String(error)));
