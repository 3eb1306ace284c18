"""sem_sionna.metrics"""
