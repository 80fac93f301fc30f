#!/usr/bin/env node
// Reads COUNT messages of TOPIC from its beginning with kafkajs, decodes each value with
// @kafkajs/confluent-schema-registry (Confluent's wire format: magic byte, schema id, Avro), and
// prints each decoded value as one JSON line on stdout. What Node.js users of the lab run (the
// client of the NestJS docs), used by tests/e2e/test_node_clients.py.
//
//   node read-avro.js BROKERS REGISTRY_URL TOPIC COUNT [TIMEOUT_SECONDS]
//
// BROKERS is comma-separated (localhost:9094); REGISTRY_URL the Confluent-compatible API
// (http://localhost:8081/apis/ccompat/v7 for the lab's Apicurio Registry). Exit 0 once COUNT values
// were printed; exit 1 on any error, or when COUNT were not read within TIMEOUT_SECONDS (default 60).
'use strict';

const { Kafka, logLevel } = require('kafkajs');
const { SchemaRegistry } = require('@kafkajs/confluent-schema-registry');

function fail(message) {
  process.stderr.write(`read-avro: ${message}\n`);
  process.exit(1);
}

const [brokers, registryUrl, topic, countText, timeoutText = '60'] = process.argv.slice(2);
const count = Number(countText);
const timeoutSeconds = Number(timeoutText);
if (!brokers || !registryUrl || !topic || !Number.isInteger(count) || count < 1 || !(timeoutSeconds > 0)) {
  fail('usage: node read-avro.js BROKERS REGISTRY_URL TOPIC COUNT [TIMEOUT_SECONDS]');
}

// kafkajs logs through console.info by default, which is stdout: its lines would mix with the
// values. Its warnings and errors go to stderr instead.
const toStderr = () => ({ namespace, log }) =>
  process.stderr.write(`kafkajs ${namespace}: ${log.message}\n`);

const kafka = new Kafka({
  clientId: 'kafkalab-read-avro',
  brokers: brokers.split(','),
  logLevel: logLevel.WARN,
  logCreator: toStderr,
  retry: { retries: 3 },
});
const registry = new SchemaRegistry({ host: registryUrl });
// A group of its own, so that every run reads from the beginning.
const consumer = kafka.consumer({ groupId: `kafkalab-read-avro-${process.pid}-${Date.now()}` });

async function main() {
  const timer = setTimeout(
    () => fail(`read fewer than ${count} messages of ${topic} within ${timeoutSeconds} s`),
    timeoutSeconds * 1000,
  );
  let read = 0;
  let done;
  const finished = new Promise((resolve, reject) => { done = { resolve, reject }; });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      if (read >= count) return;
      try {
        const value = await registry.decode(message.value);
        process.stdout.write(`${JSON.stringify(value)}\n`);
      } catch (err) {
        done.reject(err);
        return;
      }
      read += 1;
      if (read === count) done.resolve();
    },
  });
  await finished;
  clearTimeout(timer);
  await consumer.disconnect();
}

main().then(
  () => process.exit(0),
  (err) => fail(err && err.stack ? err.stack : String(err)),
);
