"""sem_sionna.train"""
