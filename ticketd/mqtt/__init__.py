"""The MQTT print-server protocol (docs/protocol.rst): paho driven by the reactor, one
connection per printer prefix, bridged to the print service."""
