#!/usr/bin/env bash
# /opt/kafka/bin/connect-distributed.sh of the kafkalab-test/kafka image (apache flavor): what the
# release's bin/connect-distributed.sh does through bin/kafka-run-class.sh, with their defaults written
# out, as kafka-start does for the broker. A Connect worker in distributed mode:
#   connect-distributed.sh WORKER.properties
# KAFKA_HEAP_OPTS (connect-distributed.sh's default -Xms256M -Xmx2G), KAFKA_JVM_PERFORMANCE_OPTS
# (kafka-run-class.sh's G1 options when empty), KAFKA_JMX_OPTS (the JMX agent on unless set),
# KAFKA_LOG4J_OPTS (config/connect-log4j2.yaml: INFO to the console and logs/connect.log), KAFKA_OPTS
# and LOG_DIR reach the JVM as there. The classpath is libs/* but the FileStream connectors
# (connect-file-*.jar), which kafka-run-class.sh leaves out since Kafka 3.2: a worker finds them only
# through plugin.path (libs/connect-file-VERSION.jar). Not reproduced: -daemon, JMX_PORT, KAFKA_DEBUG.
set -euo pipefail
[[ $# -ge 1 ]] || { echo "USAGE: $0 connect-distributed.properties" >&2; exit 1; }
home=/opt/kafka
log_dir=${LOG_DIR:-$home/logs}
mkdir -p "$log_dir"
classpath=""
for jar in "$home"/libs/*; do
  [[ $jar =~ (-(test|test-sources|src|scaladoc|javadoc)\.jar|jar\.asc|connect-file.*\.jar)$ ]] && continue
  classpath+="${classpath:+:}$jar"
done
g1="-server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true"
jmx="-Dcom.sun.management.jmxremote=true -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
# Word splitting is wanted: these variables hold JVM option lists, as in kafka-run-class.sh.
# shellcheck disable=SC2086
exec java ${KAFKA_HEAP_OPTS:--Xms256M -Xmx2G} ${KAFKA_JVM_PERFORMANCE_OPTS:-$g1} ${KAFKA_JMX_OPTS:-$jmx} \
  -Dkafka.logs.dir="$log_dir" ${KAFKA_LOG4J_OPTS:--Dlog4j2.configurationFile=$home/config/connect-log4j2.yaml} \
  -cp "$classpath" ${KAFKA_OPTS:-} org.apache.kafka.connect.cli.ConnectDistributed "$@"
