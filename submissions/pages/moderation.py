import streamlit as st

st.title("Moderation")
st.info("This page is being built.")
