import streamlit as st

st.title("Leaderboard")
st.info("This page is being built.")
