"""The router's side of the service loop (docs/contracts.md): the ticket service's client, the
routes people use, the watcher of deadlines and the delivery of notices to customers."""
