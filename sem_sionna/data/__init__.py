"""sem_sionna.data"""
