"""MQTT print-server protocol (PROTOCOL.md section 3): paho driven by the reactor, one
connection per printer prefix, bridged to the print service."""
