"""The only code that talks to the AI Platform.

http (the session factory), errors, iam, aiplatform (management), inference (data plane).
"""
