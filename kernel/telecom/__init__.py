"""Pure telecom helpers shared by the NLU components and the action server.

Nothing here imports Rasa, opens a database or reads the environment.
"""
