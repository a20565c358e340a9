"""Storage events: decoding queue messages, the Event Grid filter, and the service's rules."""
