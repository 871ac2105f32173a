"""Webhook endpoints and their delivery log, for services that cannot hold a WebSocket."""
