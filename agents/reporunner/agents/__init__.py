"""reporunner.agents"""
