"""sem_sionna.nets"""
