"""reporunner.platform"""
