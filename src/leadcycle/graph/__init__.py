"""The GraphQL API, the Starlette app and the command line. It translates; the domain decides."""
