"""The poison queue tools: read the whole `<queue>-poison`, say why each message failed,
replay a selection to the main queue or purge it."""
