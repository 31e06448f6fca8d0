"""Job functions: deliver mail, render PDFs, reminders, digests and the sweep.

A layer of its own between web and services (`cli > web > tasks > services | infra`): jobs
take ids (never ORM objects), open their own session, commit, and call services as views do.
`register(huey, environment)` binds them to one app's queue (courseware.web.jobs does that);
`flask --app app jobs worker` consumes it.
"""
