"""reporunner.knowledge"""
