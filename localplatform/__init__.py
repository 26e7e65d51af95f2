"""The local AI Platform: a separate process that plays VNG Cloud's AI Platform on loopback.

Run it with `python -m localplatform`; see docs/localplatform.md. It never imports Django.
"""
