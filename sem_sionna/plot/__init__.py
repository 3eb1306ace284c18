"""sem_sionna.plot"""
